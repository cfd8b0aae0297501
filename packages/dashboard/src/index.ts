export { ASSETS_DIR, dashboardAssets, dashboardRouter, type DashboardOptions } from './dashboard-router.js';
