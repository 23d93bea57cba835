/** DEMO_REFUSED says why demo data is never added in production (a known account with printed credentials). */
export const DEMO_REFUSED = 'demo data is for development and is refused with BACKPLANE_ENV=production'
