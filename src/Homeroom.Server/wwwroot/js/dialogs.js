// Console dialogs (WebConsole/Components/ActionDialog.razor), in one scope so nothing here is a page global.
(() => {
    const focusable = '.dialog input:not([disabled]), .dialog select, .dialog button:not([disabled])';

    // A dialog's focus guards, before and after it: reaching one (Shift+Tab at the first control, Tab at the last) wraps
    // around to the other end, in the browser itself. Here rather than in onfocus attributes: the console's content
    // security policy allows no inline script.
    document.addEventListener('focusin', event => {
        const guard = event.target instanceof Element ? event.target.closest('.modal .focus-guard[data-guard]') : null;
        if (!guard) {
            return;
        }

        const controls = guard.parentElement.querySelectorAll(focusable);
        (guard.dataset.guard === 'start' ? controls[controls.length - 1] : controls[0])?.focus();
    });

    // Keys pressed while a console dialog is open but before its focus has moved in (the focus call is a
    // round trip to the server, the dialog's own key handler only hears keys from inside it): Escape still
    // cancels the topmost dialog, and Tab moves into it, so a fast key never reaches the page behind.
    document.addEventListener('keydown', event => {
        const modals = document.querySelectorAll('.modal[data-testid="action-dialog"]');
        const modal = modals[modals.length - 1];
        if (!modal || modal.contains(event.target)) {
            return;
        }

        if (event.key === 'Escape') {
            event.preventDefault();
            event.stopPropagation();
            modal.querySelector('[data-testid="dialog-cancel"]')?.click();
        } else if (event.key === 'Tab') {
            event.preventDefault();
            event.stopPropagation();
            modal.querySelector(focusable)?.focus();
        }
    }, true);
})();
