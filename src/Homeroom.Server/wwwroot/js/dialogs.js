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
        modal.querySelector('.dialog input:not([disabled]), .dialog select, .dialog button:not([disabled])')?.focus();
    }
}, true);
