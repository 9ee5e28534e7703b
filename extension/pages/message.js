const params = new URLSearchParams(location.search);
document.getElementById('title').textContent = params.get('title') ?? 'Message from your teacher';
document.getElementById('text').textContent = params.get('text') ?? '';
document.getElementById('ok').addEventListener('click', () => window.close());
