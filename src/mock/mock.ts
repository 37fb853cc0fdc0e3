/**
 * Strict mocks of domain interfaces for consumer unit tests: every method not given in `impl`
 * throws "<Name>.<method> not mocked", so a test states exactly what its subject may call.
 */
export function strictMock<T extends object>(name: string, impl: Partial<T> = {}): T {
  return new Proxy(impl as T, {
    get(target, prop, receiver) {
      if (typeof prop === "symbol" || prop === "then") return Reflect.get(target, prop, receiver);
      if (prop in target) return Reflect.get(target, prop, receiver);
      return () => {
        throw new Error(`${name}.${String(prop)} not mocked`);
      };
    },
  });
}
