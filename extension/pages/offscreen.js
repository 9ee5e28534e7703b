// Service workers have no geolocation; this offscreen document (GEOLOCATION reason) takes one fix
// per request from the worker, with the battery state that decides how soon the next one is due.
// It does nothing between requests: no watchPosition, no timers.
chrome.runtime.onMessage.addListener((message, _sender, reply) => {
  if (message?.type !== 'homeroom.locate') return false;
  navigator.geolocation.getCurrentPosition(
    async (position) => reply({
      fix: {
        latitude: position.coords.latitude,
        longitude: position.coords.longitude,
        accuracyMeters: position.coords.accuracy,
        capturedAt: new Date(position.timestamp).toISOString(),
        speed: Number.isFinite(position.coords.speed) ? position.coords.speed : undefined,
      },
      battery: await battery(),
    }),
    (error) => reply({ error: `No location fix: ${error.message || `error ${error.code}`}` }),
    { enableHighAccuracy: false, timeout: 15000, maximumAge: 5000 },
  );
  return true;
});

async function battery() {
  try {
    const state = await navigator.getBattery?.();
    return state ? { level: state.level, charging: state.charging } : null;
  } catch {
    return null;
  }
}
