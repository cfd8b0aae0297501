export { ASSETS_DIR, dashboardRouter, type DashboardOptions } from './dashboard-router.js';
