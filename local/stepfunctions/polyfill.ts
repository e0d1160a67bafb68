/**
 * `aws-local-stepfunctions` 3.0.0 (the only version the registry serves) calls
 * `Promise.withResolvers`, which Node gained in 22; on Node 20 every Task state fails with
 * "Promise.withResolvers is not a function". This is the one place that fills it in; the engine
 * imports it before the library is used. A no-op where the runtime already has it.
 */
interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

// The ES2023 lib this project compiles against does not declare `withResolvers`, so look it up
// through a narrow structural type instead of augmenting the global PromiseConstructor.
const promiseConstructor = Promise as unknown as { withResolvers?: unknown };

if (typeof promiseConstructor.withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(): Resolvers<T> {
      let resolve!: Resolvers<T>["resolve"];
      let reject!: Resolvers<T>["reject"];
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export {};
