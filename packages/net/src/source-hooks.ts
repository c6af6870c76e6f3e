// Loaded (`--import`) into a worker thread only when its module is a TypeScript source (tests run
// the packages from their sources): the sources import each other as `.js`, which exists only once
// built, so a relative `.js` import that does not resolve is tried as `.ts`.
import { registerHooks } from "node:module";

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (err) {
      if (specifier.startsWith(".") && specifier.endsWith(".js"))
        return next(`${specifier.slice(0, -3)}.ts`, context);
      throw err;
    }
  },
});
