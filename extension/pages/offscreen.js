// Service workers have no geolocation; this offscreen document asks for one fix on request.
chrome.runtime.onMessage.addListener((message, _sender, reply) => {
  if (message?.type !== 'homeroom.locate') return false;
  navigator.geolocation.getCurrentPosition(
    (position) => reply({
      latitude: position.coords.latitude,
      longitude: position.coords.longitude,
      accuracyMeters: position.coords.accuracy,
      capturedAt: new Date(position.timestamp).toISOString(),
    }),
    (error) => reply({ error: `No location fix: ${error.message}` }),
    { enableHighAccuracy: false, timeout: 15000, maximumAge: 60000 },
  );
  return true;
});
