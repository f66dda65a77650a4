/** HTTP/3 (RFC 9114 section 8.1) and QPACK (RFC 9204 section 6) error codes. */
export const h3ErrorCodes = {
  H3_NO_ERROR: 0x100,
  H3_GENERAL_PROTOCOL_ERROR: 0x101,
  H3_INTERNAL_ERROR: 0x102,
  H3_STREAM_CREATION_ERROR: 0x103,
  H3_CLOSED_CRITICAL_STREAM: 0x104,
  H3_FRAME_UNEXPECTED: 0x105,
  H3_FRAME_ERROR: 0x106,
  H3_EXCESSIVE_LOAD: 0x107,
  H3_ID_ERROR: 0x108,
  H3_SETTINGS_ERROR: 0x109,
  H3_MISSING_SETTINGS: 0x10a,
  H3_REQUEST_REJECTED: 0x10b,
  H3_REQUEST_CANCELLED: 0x10c,
  H3_REQUEST_INCOMPLETE: 0x10d,
  H3_MESSAGE_ERROR: 0x10e,
  H3_CONNECT_ERROR: 0x10f,
  H3_VERSION_FALLBACK: 0x110,
  QPACK_DECOMPRESSION_FAILED: 0x200,
  QPACK_ENCODER_STREAM_ERROR: 0x201,
  QPACK_DECODER_STREAM_ERROR: 0x202,
} as const;

/** The RFC name of an HTTP/3 or QPACK error code. */
export type H3ErrorName = keyof typeof h3ErrorCodes;

const namesByCode = new Map<number, H3ErrorName>(
  Object.entries(h3ErrorCodes).map(([name, code]) => [code, name as H3ErrorName]),
);

/** The RFC name of an application error code, or its hex value when unknown (e.g. grease). */
export function h3ErrorName(code: number): string {
  return namesByCode.get(code) ?? `0x${code.toString(16)}`;
}

/** The RFC name of an HTTP/3 or QPACK error code, or undefined for a code the RFCs do not name. */
export function knownH3ErrorName(code: number): H3ErrorName | undefined {
  return namesByCode.get(code);
}
