import * as z from "zod";

/**
 * What a field is, and an example of it, for the OpenAPI document (generated from the zod schemas:
 * `.meta(about("The child's name", "Ava Example"))`). Examples use invented people and children only.
 */
export const about = (description: string, example: unknown) => ({ description, examples: [example] });

/**
 * `target` with the descriptions and examples of `source`'s fields of the same names, at every
 * depth: for a stored or returned copy of a request's shape (the challenge form), so each field is
 * described once, where the request defines it. Validation stays `target`'s own.
 */
export function documentedLike<T extends z.ZodType>(target: T, source: z.ZodType): T {
  const meta = source.meta();
  const inner = withInnerDocs(target, source);
  return (meta === undefined ? inner : inner.meta(meta)) as T;
}

function withInnerDocs(target: z.ZodType, source: z.ZodType): z.ZodType {
  const from =
    source instanceof z.ZodOptional || source instanceof z.ZodNullable
      ? (source.unwrap() as z.ZodType)
      : source;
  if (target instanceof z.ZodOptional) return documentedLike(target.unwrap() as z.ZodType, from).optional();
  if (target instanceof z.ZodNullable) return documentedLike(target.unwrap() as z.ZodType, from).nullable();
  if (target instanceof z.ZodObject && from instanceof z.ZodObject) {
    const sourceShape = from.shape as Record<string, z.ZodType>;
    const shape = Object.fromEntries(
      Object.entries(target.shape as Record<string, z.ZodType>).map(([key, field]) => {
        const documented = sourceShape[key];
        return [key, documented === undefined ? field : documentedLike(field, documented)];
      }),
    );
    return target.extend(shape);
  }
  return target;
}
