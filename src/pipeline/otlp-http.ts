/** The OTLP/HTTP Profiles route: where the receiver listens and where the exporter posts. */
export const HTTP_PROFILES_PATH = '/v1development/profiles';
