// A device's remote session in the technician's browser. The page's server side starts the session; this opens the
// session socket (same origin, the console's cookie), applies each screen update's copies (scrolled regions) and paints
// its tiles on the canvas in order, and in control mode sends the pointer and keyboard (browser keys mapped to X keysyms).
// Pointer moves are sent in view mode too: they tell the server the technician is still there (the idle timeout), and are
// not passed to the device.

const sessions = new Map(); // device id -> { socket }

const namedKeys = {
    Backspace: 0xff08, Tab: 0xff09, Enter: 0xff0d, Escape: 0xff1b, Delete: 0xffff, Home: 0xff50, End: 0xff57,
    ArrowLeft: 0xff51, ArrowUp: 0xff52, ArrowRight: 0xff53, ArrowDown: 0xff54, PageUp: 0xff55, PageDown: 0xff56, Insert: 0xff63,
    Shift: 0xffe1, Control: 0xffe3, Alt: 0xffe9, Meta: 0xffeb, CapsLock: 0xffe5,
    F1: 0xffbe, F2: 0xffbf, F3: 0xffc0, F4: 0xffc1, F5: 0xffc2, F6: 0xffc3, F7: 0xffc4, F8: 0xffc5, F9: 0xffc6, F10: 0xffc7, F11: 0xffc8, F12: 0xffc9,
};

function keysym(event) {
    if (namedKeys[event.key]) {
        return namedKeys[event.key];
    }

    if ([...event.key].length === 1) {
        const cp = event.key.codePointAt(0);
        return cp < 0x100 ? cp : 0x01000000 + cp;
    }

    return null;
}

const statusText = {
    waiting: 'Waiting for the student to accept…',
    streaming: 'Connected.',
    ended: 'Ended.',
};

export function open(deviceId, sessionId, mode, dotnet) {
    close(deviceId);
    const canvas = document.getElementById(`remote-canvas-${deviceId}`);
    const status = document.getElementById(`remote-status-${deviceId}`);
    const context = canvas.getContext('2d');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/api/devices/${deviceId}/remote-session/${sessionId}/stream`);
    socket.binaryType = 'arraybuffer';
    const session = { socket, cleanup: [] };
    sessions.set(deviceId, session);
    let painting = Promise.resolve();
    let frames = 0;

    socket.onmessage = message => {
        if (typeof message.data === 'string') {
            const state = JSON.parse(message.data);
            if (state.type === 'clipboard') {
                const clipboard = document.getElementById(`remote-clipboard-status-${deviceId}`);
                if (clipboard) {
                    clipboard.textContent = state.state === 'sent' ? 'Sent to the device\'s clipboard.' : `Not sent: ${state.reason}.`;
                }

                return;
            }

            // The device's clipboard text (shown read only, never sent anywhere else), or why none came.
            if (state.type === 'deviceClipboard') {
                const box = document.getElementById(`remote-device-clipboard-${deviceId}`);
                const note = document.getElementById(`remote-device-clipboard-status-${deviceId}`);
                if (box && state.state === 'received') {
                    box.value = state.text;
                }

                if (note) {
                    note.textContent = state.state === 'received'
                        ? `Read from the device's clipboard (${new TextEncoder().encode(state.text).length} bytes).`
                        : `Not read: ${state.reason}.`;
                    note.dataset.state = state.state;
                }

                return;
            }

            // A file asked of the device: asked, allowed by the student (then sending), ready to download, denied, refused or expired.
            if (state.type === 'deviceFile') {
                const note = document.getElementById(`remote-device-file-status-${deviceId}`);
                const link = document.getElementById(`remote-device-file-link-${deviceId}`);
                if (note) {
                    note.textContent = state.state === 'asked' ? `${state.name}: waiting for the student to allow it…`
                        : state.state === 'allowed' ? `${state.name}: the student allowed it; receiving…`
                        : state.state === 'ready' ? `${state.name}: received, ${state.size} bytes, SHA-256 ${state.sha256}.`
                        : state.state === 'denied' ? `${state.name}: denied: ${state.reason}.`
                        : state.state === 'expired' ? `${state.name}: no longer kept (${state.reason}).`
                        : `${state.name}: refused: ${state.reason}.`;
                    note.dataset.state = state.state;
                }

                if (link) {
                    link.hidden = state.state !== 'ready';
                    if (state.state === 'ready') {
                        link.href = `/api/devices/${deviceId}/remote-session/${sessionId}/device-files/${state.transferId}`;
                        link.download = state.name;
                        link.textContent = `Download ${state.name}`;
                    }
                }

                return;
            }

            // A file's progress: sent (every chunk went out), then saved on the device or refused (with why).
            if (state.type === 'file') {
                const file = document.getElementById(`remote-file-status-${deviceId}`);
                if (file) {
                    file.textContent = state.state === 'sent' ? `${state.name}: sent, waiting for the device…`
                        : state.state === 'saved' ? `${state.name}: saved on the device${state.reason ? ` as ${state.reason}` : ''}.`
                        : `${state.name}: refused: ${state.reason}.`;
                    file.dataset.state = state.state;
                }

                return;
            }

            status.textContent = state.state === 'streaming'
                ? (state.mode === 'control' ? 'Connected: you control the screen (click it to type).' : 'Connected: view only.')
                : (statusText[state.state] ?? state.state) + (state.reason ? ` ${state.reason}` : '');
            status.dataset.state = state.state;
            return;
        }

        const data = message.data;
        painting = painting.then(() => paint(data)).catch(() => { });
    };

    async function paint(buffer) {
        const view = new DataView(buffer);
        const width = view.getUint16(25), height = view.getUint16(27), countField = view.getUint16(29);
        if (canvas.width !== width || canvas.height !== height) {
            canvas.width = width;
            canvas.height = height;
        }

        // Bit 15 of the tile count: moved regions (scrolling) follow the header, applied in order before the tiles.
        const count = countField & 0x7fff;
        let at = 31;
        const copies = [];
        if (countField & 0x8000) {
            const copyCount = view.getUint16(at);
            at += 2;
            for (let i = 0; i < copyCount; i++, at += 12) {
                copies.push([view.getUint16(at), view.getUint16(at + 2), view.getUint16(at + 4), view.getUint16(at + 6), view.getUint16(at + 8), view.getUint16(at + 10)]);
            }
        }

        const tiles = [];
        for (let i = 0; i < count; i++) {
            const x = view.getUint16(at), y = view.getUint16(at + 2), length = view.getInt32(at + 8);
            tiles.push({ x, y, blob: new Blob([new Uint8Array(buffer, at + 12, length)], { type: 'image/jpeg' }) });
            at += 12 + length;
        }

        const bitmaps = await Promise.all(tiles.map(t => createImageBitmap(t.blob)));
        // Drawing the canvas onto itself reads the source whole before writing, so overlapping moves are exact.
        for (const [sx, sy, w, h, dx, dy] of copies) {
            context.drawImage(canvas, sx, sy, w, h, dx, dy, w, h);
        }

        bitmaps.forEach((bitmap, i) => {
            context.drawImage(bitmap, tiles[i].x, tiles[i].y);
            bitmap.close();
        });
        canvas.dataset.frames = String(++frames);
    }

    socket.onclose = () => {
        if (status.dataset.state !== 'ended') {
            status.textContent = 'Ended.';
            status.dataset.state = 'ended';
        }

        for (const undo of session.cleanup) {
            undo();
        }

        if (sessions.get(deviceId) === session) {
            sessions.delete(deviceId);
        }

        dotnet.invokeMethodAsync('EndedAsync');
    };

    const send = events => {
        if (socket.readyState === WebSocket.OPEN) {
            socket.send(JSON.stringify({ type: 'input', events }));
        }
    };
    const position = event => ({
        x: Math.max(0, Math.min(canvas.width - 1, Math.floor(event.offsetX * canvas.width / canvas.clientWidth))),
        y: Math.max(0, Math.min(canvas.height - 1, Math.floor(event.offsetY * canvas.height / canvas.clientHeight))),
    });
    let pendingMove = null;
    const listen = (target, name, handler) => {
        target.addEventListener(name, handler);
        session.cleanup.push(() => target.removeEventListener(name, handler));
    };

    // Moves go at most once an animation frame: a fast mouse must not outrun the server's input rate.
    listen(canvas, 'mousemove', event => {
        if (canvas.width === 0) {
            return;
        }

        const first = pendingMove === null;
        pendingMove = { kind: 'move', ...position(event) };
        if (first) {
            requestAnimationFrame(() => {
                send([pendingMove]);
                pendingMove = null;
            });
        }
    });

    if (mode !== 'control') {
        return;
    }

    listen(canvas, 'contextmenu', event => event.preventDefault());
    for (const [name, kind] of [['mousedown', 'down'], ['mouseup', 'up']]) {
        listen(canvas, name, event => {
            canvas.focus();
            event.preventDefault();
            if (canvas.width > 0 && event.button <= 2) {
                send([{ kind, ...position(event), button: [1, 2, 3][event.button] }]);
            }
        });
    }

    listen(canvas, 'wheel', event => {
        event.preventDefault();
        if (canvas.width > 0 && event.deltaY !== 0) {
            send([{ kind: 'wheel', ...position(event), delta: event.deltaY < 0 ? -1 : 1 }]);
        }
    });
    for (const [name, kind] of [['keydown', 'keyDown'], ['keyup', 'keyUp']]) {
        listen(canvas, name, event => {
            const sym = keysym(event);
            if (sym !== null) {
                event.preventDefault();
                send([{ kind, keysym: sym }]);
            }
        });
    }
}

// Clipboard text for the device (control sessions where the school allows it); the server answers with a clipboard message.
export function sendClipboard(deviceId, text) {
    const session = sessions.get(deviceId);
    if (session && session.socket.readyState === WebSocket.OPEN && text) {
        session.socket.send(JSON.stringify({ type: 'clipboard', text }));
        return true;
    }

    return false;
}

// Asks for the device's clipboard text (control sessions where the school allows the clipboard); a deviceClipboard message answers.
export function readClipboard(deviceId) {
    const session = sessions.get(deviceId);
    if (session && session.socket.readyState === WebSocket.OPEN) {
        session.socket.send(JSON.stringify({ type: 'readClipboard' }));
        return true;
    }

    return false;
}

// Copies the device's clipboard text, as read, to the technician's own clipboard.
export async function copyDeviceClipboard(deviceId) {
    const box = document.getElementById(`remote-device-clipboard-${deviceId}`);
    if (!box || !box.value) {
        return false;
    }

    try {
        await navigator.clipboard.writeText(box.value);
    } catch {
        // Without the asynchronous clipboard (a page not served over https): the selection and the older copy command.
        box.select();
        document.execCommand('copy');
    }

    return true;
}

export function close(deviceId) {
    const session = sessions.get(deviceId);
    if (session) {
        sessions.delete(deviceId);
        if (session.socket.readyState <= WebSocket.OPEN) {
            session.socket.send(JSON.stringify({ type: 'end' }));
            session.socket.close(1000, 'closed');
        }
    }
}
