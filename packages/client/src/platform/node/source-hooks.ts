// Loaded (`--import`) into the page-opening workers only when the client runs from its TypeScript
// sources (tests): the sources import each other as `.js`, which exists only once built.
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
