import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteWriter } from '../../src/transport/h3/byte-writer.js';
import { huffmanEncode } from '../../src/transport/h3/qpack/huffman.js';
import { Http3Error, type Field } from '../../src/transport/index.js';
import { decodeFieldSection, encodeFieldSection, fieldSectionSize } from '../../src/transport/h3/qpack/field-section.js';
import { huffmanDecode, huffmanEncodedLength } from '../../src/transport/h3/qpack/huffman.js';

const huffman = (text: string): string => {
  const out = new ByteWriter();
  huffmanEncode(text, out);
  return Buffer.from(out.view()).toString('hex');
};
const limits = { maxFieldSectionSize: 1 << 20 };
const decode = (hex: string) => decodeFieldSection(Buffer.from(hex.replace(/\s/g, ''), 'hex'), limits);
const failure = (hex: string): string => {
  try {
    decode(hex);
  } catch (error) {
    expect(error).toBeInstanceOf(Http3Error);
    return (error as Http3Error).errorName;
  }
  throw new Error('expected a decoding failure');
};

/** Byte strings as HTTP carries them: latin1 characters 0x00-0xff. */
const byteString = (maxLength: number) =>
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength }).map((codes) => String.fromCharCode(...codes));
const fieldName = fc.stringMatching(/^[a-z0-9!#$%&'*+\-.^_`|~]{1,30}$/);

describe('Huffman code (RFC 7541 section 5.2, Appendix B)', () => {
  it('matches the RFC 7541 appendix C.4 and C.6 examples both ways', () => {
    const vectors: Array<[string, string]> = [
      ['www.example.com', 'f1e3c2e5f23a6ba0ab90f4ff'],
      ['no-cache', 'a8eb10649cbf'],
      ['custom-key', '25a849e95ba97d7f'],
      ['custom-value', '25a849e95bb8e8b4bf'],
      ['302', '6402'],
      ['private', 'aec3771a4b'],
      ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07abe941054d444a8200595040b8166e082a62d1bff'],
      ['https://www.example.com', '9d29ad171863c78f0b97c8e9ae82ae43d3'],
      ['gzip', '9bd9ab'],
      ['foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1', '94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007'],
    ];
    for (const [text, hex] of vectors) {
      expect(huffman(text)).toBe(hex);
      expect(huffmanDecode(Buffer.from(hex, 'hex'))).toBe(text);
      expect(huffmanEncodedLength(text)).toBe(hex.length / 2);
    }
  });

  it('round-trips any byte string', () => {
    fc.assert(
      fc.property(byteString(200), (text) => {
        const out = new ByteWriter();
        huffmanEncode(text, out);
        expect(huffmanDecode(out.view())).toBe(text);
      }),
    );
  });

  it('refuses EOS in the string, padding that is not ones, and padding of 8 bits or more', () => {
    // EOS is 30 ones: four 0xff bytes contain it.
    expect(huffmanDecode(Uint8Array.from([0xff, 0xff, 0xff, 0xff]))).toBeUndefined();
    // 'a' is 00011 (5 bits): padding 000 is not the EOS prefix.
    expect(huffmanDecode(Uint8Array.from([0b0001_1000]))).toBeUndefined();
    expect(huffmanDecode(Uint8Array.from([0b0001_1111]))).toBe('a');
    // A whole byte of padding after a complete symbol is too long.
    expect(huffmanDecode(Uint8Array.from([0b0001_1111, 0xff]))).toBeUndefined();
  });
});

describe('QPACK field sections without a dynamic table (RFC 9204)', () => {
  it('decodes the RFC 9204 appendix B.1 example (literal with static name reference)', () => {
    expect(decode('0000 510b 2f69 6e64 6578 2e68 746d 6c')).toEqual([[':path', '/index.html']]);
  });

  it('uses the static table: an exact match is one byte', () => {
    const encoded = encodeFieldSection([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/'],
    ]);
    expect(Buffer.from(encoded).toString('hex')).toBe('0000d1d7c1');
  });

  it('round-trips any header list, static names and values included', () => {
    const staticFields: Field[] = [
      [':method', 'POST'],
      [':status', '200'],
      ['content-type', 'application/json'],
      ['accept', '*/*'],
      ['user-agent', 'qfaas'],
      ['cookie', 'a=b'],
      ['authorization', 'Bearer x'],
    ];
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.tuple(fieldName, byteString(80)), fc.constantFrom(...staticFields)), { maxLength: 30 }),
        (fields) => {
          expect(decodeFieldSection(encodeFieldSection(fields), limits)).toEqual(fields);
        },
      ),
    );
  });

  it('fields with a new value per request (0-RTT nonce, call id) round-trip with their name part reused', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('qfaas-early-nonce', 'qfaas-early-timestamp', 'x-call-id', 'content-length', 'date'), byteString(40)), { maxLength: 8 }),
        (fields) => {
          // Twice: the second encoding takes the name part from the cache.
          expect(decodeFieldSection(encodeFieldSection(fields), limits)).toEqual(fields);
          expect(decodeFieldSection(encodeFieldSection(fields), limits)).toEqual(fields);
        },
      ),
    );
  });

  it('every prefix of a field section is a typed error or a shorter valid section, never a wrong field', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fieldName, byteString(40)), { minLength: 1, maxLength: 8 }), (fields) => {
        const encoded = encodeFieldSection(fields);
        for (let cut = 0; cut < encoded.length; cut++) {
          let decoded: ReturnType<typeof decodeFieldSection> | undefined;
          try {
            decoded = decodeFieldSection(encoded.subarray(0, cut), limits);
          } catch (error) {
            expect((error as Http3Error).errorName).toBe('QPACK_DECOMPRESSION_FAILED');
            continue;
          }
          expect(Array.isArray(decoded)).toBe(true);
          expect(fields.slice(0, (decoded as Field[]).length)).toEqual(decoded);
          expect((decoded as Field[]).length).toBeLessThan(fields.length);
        }
      }),
    );
  });

  it('any reference to the dynamic table is QPACK_DECOMPRESSION_FAILED', () => {
    expect(failure('0200 80')).toBe('QPACK_DECOMPRESSION_FAILED'); // Required Insert Count 1
    expect(failure('0000 80')).toBe('QPACK_DECOMPRESSION_FAILED'); // indexed field line, T=0
    expect(failure('0000 4003 616263')).toBe('QPACK_DECOMPRESSION_FAILED'); // name reference, T=0
    expect(failure('0000 10')).toBe('QPACK_DECOMPRESSION_FAILED'); // indexed, post-base
    expect(failure('0000 0003 616263')).toBe('QPACK_DECOMPRESSION_FAILED'); // name reference, post-base
  });

  it('refuses out-of-range static indices, truncation, bad Huffman and absurd integers', () => {
    expect(failure('0000 ff24')).toBe('QPACK_DECOMPRESSION_FAILED'); // static index 99
    expect(failure('0000 510b 2f69')).toBe('QPACK_DECOMPRESSION_FAILED'); // value cut short
    expect(failure('0000 5181 00')).toBe('QPACK_DECOMPRESSION_FAILED'); // Huffman padding of zeros
    expect(failure('0000 517f ffffffffff0f')).toBe('QPACK_DECOMPRESSION_FAILED'); // length beyond 2^32
    expect(failure('00')).toBe('QPACK_DECOMPRESSION_FAILED'); // no Base
  });

  it('stops decoding past the size limit (RFC 9114 section 4.2.2 accounting)', () => {
    const fields: Field[] = Array.from({ length: 10 }, (_, i) => [`x-header-${i}`, 'v'.repeat(100)]);
    const size = fieldSectionSize(fields);
    expect(decodeFieldSection(encodeFieldSection(fields), { maxFieldSectionSize: size })).toEqual(fields);
    expect(decodeFieldSection(encodeFieldSection(fields), { maxFieldSectionSize: size - 1 })).toMatchObject({ oversized: true });
  });
});
