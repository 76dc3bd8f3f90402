/** Coded API errors (as Fastify's FST_ERR_*): one place makes each, with its status. */
export const UI_ERRORS = {
  PL_UI_BAD_KEY: 400,
  PL_UI_BAD_WINDOW: 400,
  PL_UI_BAD_LIMITS: 400,
  PL_UI_BAD_SEARCH: 400,
  PL_UI_BAD_STEP: 400,
  PL_UI_BAD_DIFF: 400,
  PL_UI_BAD_SOURCES_QUERY: 400,
  PL_UI_UNKNOWN_TYPE: 400,
  PL_UI_SLOT_NOT_FOUND: 404,
  PL_UI_NOT_FOUND: 404,
} as const;

export type UiErrorCode = keyof typeof UI_ERRORS;

export class UiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: UiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UiError';
    this.statusCode = UI_ERRORS[code];
  }
}
