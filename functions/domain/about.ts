import * as z from "zod/mini";
// Named imports: a value read through the `z.core` namespace would bundle all of zod's core.
import { $ZodNullable, $ZodObject, $ZodOptional } from "zod/v4/core";
import en from "zod/v4/locales/en.js";

// zod/mini loads no messages of its own ("Invalid input" for everything); the API's problem details
// and the named domain errors quote zod's English ones. Every schema module imports this one.
z.config(en());

/**
 * What a field is, and an example of it, for the OpenAPI document (generated from the zod schemas:
 * `.check(z.meta(about("The child's name", "Ava Example")))`). Examples use invented people and
 * children only.
 */
export const about = (description: string, example: unknown) => ({ description, examples: [example] });

/**
 * `target` with the descriptions and examples of `source`'s fields of the same names, at every
 * depth: for a stored or returned copy of a request's shape (the challenge form), so each field is
 * described once, where the request defines it. Validation stays `target`'s own.
 */
export function documentedLike<T extends z.core.$ZodType>(target: T, source: z.core.$ZodType): T {
  const meta = z.globalRegistry.get(source);
  const inner = withInnerDocs(target, source);
  if (meta === undefined) return inner as T;
  // A described copy, as `.check(z.meta(...))` makes, without adding a check (an object with
  // checks can no longer be `z.omit`ted).
  const described = z.clone(inner);
  z.globalRegistry.add(described, meta);
  return described as T;
}

function withInnerDocs(target: z.core.$ZodType, source: z.core.$ZodType): z.core.$ZodType {
  const from =
    source instanceof $ZodOptional || source instanceof $ZodNullable ? source._zod.def.innerType : source;
  if (target instanceof $ZodOptional) return z.optional(documentedLike(target._zod.def.innerType, from));
  if (target instanceof $ZodNullable) return z.nullable(documentedLike(target._zod.def.innerType, from));
  if (target instanceof $ZodObject && from instanceof $ZodObject) {
    const sourceShape = from._zod.def.shape;
    const shape = Object.fromEntries(
      Object.entries(target._zod.def.shape).map(([key, field]) => {
        const documented = sourceShape[key];
        return [key, documented === undefined ? field : documentedLike(field, documented)];
      }),
    );
    return z.safeExtend(target as z.ZodMiniObject, shape);
  }
  return target;
}
