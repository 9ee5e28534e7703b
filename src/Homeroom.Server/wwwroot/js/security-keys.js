// Security keys (WebAuthn) in the console. The server writes the options (Fido2's JSON, binary fields in base64url)
// and reads the browser's own JSON form of the answer (PublicKeyCredential.toJSON), so nothing here encodes by hand.
// The console's content security policy allows no inline script: the sign-in page's button is found by its
// data-security-key-sign-in attribute; the account page calls homeroomSecurityKeys.create through Blazor's JS interop.
window.homeroomSecurityKeys = {
    // Registers a key: the options JSON from StaffSecurityKeys in, the attestation JSON out.
    async create(optionsJson) {
        const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(JSON.parse(optionsJson));
        const credential = await navigator.credentials.create({ publicKey });
        return JSON.stringify(credential.toJSON());
    },
};

document.addEventListener('click', async event => {
    const button = event.target instanceof Element ? event.target.closest('button[data-security-key-sign-in]') : null;
    if (!button) {
        return;
    }

    const form = button.closest('form');
    const message = form.querySelector('[data-security-key-error]');
    const show = text => {
        message.textContent = text;
        message.hidden = false;
    };
    button.disabled = true;
    message.hidden = true;
    try {
        const response = await fetch('/auth/sign-in/key/options', { method: 'POST', credentials: 'same-origin' });
        if (!response.ok) {
            const problem = await response.json().catch(() => null);
            show(problem?.detail ?? 'Sign in with your password again.');
            return;
        }

        const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(await response.json());
        const credential = await navigator.credentials.get({ publicKey });
        form.querySelector('input[name=assertion]').value = JSON.stringify(credential.toJSON());
        form.submit();
    } catch (error) {
        show(`Your security key did not answer (${error.name}). Try again, or use a code.`);
    } finally {
        button.disabled = false;
    }
});
