using Homeroom.Server;

var app = await HomeroomApp.CreateAsync(args);
await app.RunAsync();
