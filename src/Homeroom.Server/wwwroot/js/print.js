// A button marked data-print prints the page. The console's content security policy allows no inline script, so
// the reports' Print buttons cannot carry an onclick attribute.
document.addEventListener('click', event => {
    if (event.target instanceof Element && event.target.closest('button[data-print]')) {
        window.print();
    }
});
