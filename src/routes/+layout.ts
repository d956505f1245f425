// A static SPA: no server-side rendering, no prerendered pages beyond the fallback.
export const ssr = false;
export const prerender = false;
