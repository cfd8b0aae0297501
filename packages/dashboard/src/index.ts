export { ASSETS_DIR, dashboardRouter, type DashboardOptions } from './dashboard-router.js';
export { EventTail, type TailedEvent } from './event-tail.js';
