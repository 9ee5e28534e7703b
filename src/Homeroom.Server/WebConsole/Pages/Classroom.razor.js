// The classroom page's screens and dialog, in the browser. Screen images arrive over the console's
// live connection as bytes (not as a re-render of the page): each becomes an object URL that every
// <img data-screen="device id"> of that device shows. Images live only in this tab's memory and are
// dropped when viewing stops or the page goes away.

const screens = new Map(); // device id -> { url, capturedAt }
let observer = null;
let generation = 0; // counts clear(): an image still decoding when viewing stopped is dropped

function imagesOf(deviceId, root = document) {
    return root.querySelectorAll(`img[data-screen="${deviceId}"]`);
}

function fill(img, screen) {
    img.dataset.captured = String(screen.capturedAt);
    img.src = screen.url;
}

// A tile or the larger view that appears after its device's latest image arrived shows it at once.
function watch() {
    if (observer) {
        return;
    }

    observer = new MutationObserver(records => {
        for (const record of records) {
            for (const node of record.addedNodes) {
                if (node.nodeType !== Node.ELEMENT_NODE) {
                    continue;
                }

                const images = node.matches('img[data-screen]') ? [node] : node.querySelectorAll('img[data-screen]');
                for (const img of images) {
                    const screen = screens.get(img.dataset.screen);
                    if (screen && img.getAttribute('src') !== screen.url) {
                        fill(img, screen);
                    }
                }
            }
        }
    });
    observer.observe(document.body, { childList: true, subtree: true });
}

/** A device's new screen image: shown once decoded, so an image never appears half-drawn or empty. */
export async function show(deviceId, bytes, capturedAt, type) {
    watch();
    const started = generation;
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    const probe = new Image();
    probe.src = url;
    try {
        await probe.decode();
    } catch {
        URL.revokeObjectURL(url);
        return;
    }

    const previous = screens.get(deviceId);
    if (started !== generation || (previous && previous.capturedAt > capturedAt)) {
        URL.revokeObjectURL(url);
        return;
    }

    const screen = { url, capturedAt };
    screens.set(deviceId, screen);
    for (const img of imagesOf(deviceId)) {
        fill(img, screen);
    }

    if (previous) {
        URL.revokeObjectURL(previous.url);
    }
}

/** Viewing stopped (or the page closes): forget every image. */
export function clear() {
    generation++;
    for (const screen of screens.values()) {
        URL.revokeObjectURL(screen.url);
    }

    screens.clear();
    for (const img of document.querySelectorAll('img[data-screen]')) {
        img.removeAttribute('src');
    }

    observer?.disconnect();
    observer = null;
}

/** One device is no longer watched (another class took it over): forget its image. */
export function forget(deviceId) {
    const screen = screens.get(deviceId);
    if (!screen) {
        return;
    }

    screens.delete(deviceId);
    URL.revokeObjectURL(screen.url);
    for (const img of imagesOf(deviceId)) {
        img.removeAttribute('src');
    }
}

/** Keeps Tab and Shift+Tab inside the dialog while it is open, and puts focus on `initial`. */
export function trapFocus(dialog, initial) {
    if (!dialog || dialog.dataset.trapped) {
        return;
    }

    // Both in one call, so no key press can come between focusing the dialog and trapping it.
    dialog.dataset.trapped = 'true';
    initial?.focus();
    dialog.addEventListener('keydown', event => {
        if (event.key !== 'Tab') {
            return;
        }

        const focusable = [...dialog.querySelectorAll('button, [href], input, select, textarea, [tabindex]')]
            .filter(e => !e.disabled && e.tabIndex >= 0 && e.getClientRects().length > 0);
        if (focusable.length === 0) {
            event.preventDefault();
            return;
        }

        const first = focusable[0];
        const last = focusable[focusable.length - 1];
        const inside = dialog.contains(document.activeElement);
        if (event.shiftKey && (document.activeElement === first || !inside)) {
            event.preventDefault();
            last.focus();
        } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
            event.preventDefault();
            first.focus();
        }
    });
}
