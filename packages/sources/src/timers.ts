// The timer and clock types live with the process supervisor in @sluice/workloads; sources share them.
export { realTimers, type Clock, type TimerHandle, type Timers } from '@sluice/workloads';
