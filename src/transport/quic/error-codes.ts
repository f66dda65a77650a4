/** RFC 9000 section 20.1 CONNECTION_REFUSED: the server refused the connection before processing anything. */
export const connectionRefusedCode = 0x2;

/** RFC 9000 section 20.1 transport error codes, by name, for messages. */
const transportErrorNames: ReadonlyMap<number, string> = new Map([
  [0x0, 'NO_ERROR'],
  [0x1, 'INTERNAL_ERROR'],
  [connectionRefusedCode, 'CONNECTION_REFUSED'],
  [0x3, 'FLOW_CONTROL_ERROR'],
  [0x4, 'STREAM_LIMIT_ERROR'],
  [0x5, 'STREAM_STATE_ERROR'],
  [0x6, 'FINAL_SIZE_ERROR'],
  [0x7, 'FRAME_ENCODING_ERROR'],
  [0x8, 'TRANSPORT_PARAMETER_ERROR'],
  [0x9, 'CONNECTION_ID_LIMIT_ERROR'],
  [0xa, 'PROTOCOL_VIOLATION'],
  [0xb, 'INVALID_TOKEN'],
  [0xc, 'APPLICATION_ERROR'],
  [0xd, 'CRYPTO_BUFFER_EXCEEDED'],
  [0xe, 'KEY_UPDATE_ERROR'],
  [0xf, 'AEAD_LIMIT_REACHED'],
  [0x10, 'NO_VIABLE_PATH'],
]);

/** RFC 8446 section 6 alert descriptions that can end a QUIC handshake. */
const tlsAlertNames: ReadonlyMap<number, string> = new Map([
  [0, 'close_notify'],
  [10, 'unexpected_message'],
  [20, 'bad_record_mac'],
  [22, 'record_overflow'],
  [40, 'handshake_failure'],
  [42, 'bad_certificate'],
  [43, 'unsupported_certificate'],
  [44, 'certificate_revoked'],
  [45, 'certificate_expired'],
  [46, 'certificate_unknown'],
  [47, 'illegal_parameter'],
  [48, 'unknown_ca'],
  [49, 'access_denied'],
  [50, 'decode_error'],
  [51, 'decrypt_error'],
  [70, 'protocol_version'],
  [71, 'insufficient_security'],
  [80, 'internal_error'],
  [86, 'inappropriate_fallback'],
  [90, 'user_canceled'],
  [109, 'missing_extension'],
  [110, 'unsupported_extension'],
  [112, 'unrecognized_name'],
  [113, 'bad_certificate_status_response'],
  [115, 'unknown_psk_identity'],
  [116, 'certificate_required'],
  [120, 'no_application_protocol'],
]);

export function transportErrorName(code: number): string {
  return transportErrorNames.get(code) ?? `0x${code.toString(16)}`;
}

export function tlsAlertName(alert: number): string {
  return tlsAlertNames.get(alert) ?? `alert ${alert}`;
}
