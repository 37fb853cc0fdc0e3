/**
 * What the rest of the system may ask of the reconciler. It is level-triggered: a trigger only
 * says "look again soon"; rapid triggers coalesce.
 */
export interface Reconciler {
  /** Schedule a full resync (networks, every service, orphans). Never blocks. */
  trigger(): void;
  /** Schedule one service's pass. Never blocks. */
  triggerService(serviceID: string): void;
}
