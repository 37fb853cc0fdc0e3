import { type Dispatch, type SetStateAction, useState } from "react";

/**
 * Form state seeded from staged settings, re-seeded in place when they change. The settings cards
 * used to remount under a key made of those settings instead, but staging adds an optimistic
 * pending change at once, so the card that called `mutate` unmounted while its request was in
 * flight, and TanStack Query calls a `mutate` call's onSuccess/onError only while its observer is
 * mounted: the toasts ("Source staged") and field errors were lost. `busy` (the card's mutation is
 * pending) holds the seed: when the request fails and its optimistic change is removed, the
 * settings are back to the old seed and the user's edits stay next to the error.
 */
export function useSeededState<T>(current: T, busy: boolean): [T, Dispatch<SetStateAction<T>>] {
  const [seed, setSeed] = useState(() => JSON.stringify(current));
  const [value, setValue] = useState(current);
  const next = JSON.stringify(current);
  if (!busy && next !== seed) {
    // Setting state while rendering: React renders again at once, before painting (react.dev,
    // "Storing information from previous renders").
    setSeed(next);
    setValue(current);
  }
  return [value, setValue];
}
