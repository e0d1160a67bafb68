// asl-validator 4 ships no type declarations: the part of its API the infrastructure tests use.
declare module "asl-validator" {
  interface AslValidationResult {
    readonly isValid: boolean;
    readonly errors: readonly { readonly message?: string }[];
    errorsText(separator?: string): string;
  }
  interface AslValidationOptions {
    readonly checkPaths?: boolean;
    readonly checkArn?: boolean;
  }
  function validate(definition: unknown, options?: AslValidationOptions): AslValidationResult;
  export = validate;
}
