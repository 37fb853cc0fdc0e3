export { DEFAULT_BUFFER_SIZE, EventBus, Subscription } from "./bus.ts";
