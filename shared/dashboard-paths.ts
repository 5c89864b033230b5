/** The browser app's paths: its router matches them and the coordinator answers index.html for them. */
export const APP_PATHS = ['/', '/login', '/studies/:id', '/runs/:id', '/experiments/:id', '/workers', '/models', '/models/:name'] as const;
