/**
 * Bad input from a sender. Receivers answer these with HTTP 400 / gRPC INVALID_ARGUMENT; anything
 * else thrown while handling a request is our own bug and answered as an internal error.
 */
export class OtlpInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpInputError';
  }
}

/** The bytes or JSON could not be read as an ExportProfilesServiceRequest at all. */
export class OtlpDecodeError extends OtlpInputError {
  constructor(message: string) {
    super(message);
    this.name = 'OtlpDecodeError';
  }
}

/** The request decoded but breaks a rule of the data model; `path` names the offending field. */
export class OtlpValidationError extends OtlpInputError {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'OtlpValidationError';
  }
}
