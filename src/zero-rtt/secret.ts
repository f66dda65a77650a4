import { inspect } from 'node:util';

/**
 * Holds a secret (a private key, a ticket key, a session ticket) so that it cannot reach a log by
 * accident: `String()`, template strings, `util.inspect`, `console.log` and `JSON.stringify` all
 * show `[redacted]`. Only `reveal()` gives the value, at the few places that must use it.
 */
export class Secret<T> {
  readonly #value: T;
  readonly #label: string;

  constructor(value: T, label = 'secret') {
    this.#value = value;
    this.#label = label;
  }

  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return `[redacted ${this.#label}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
