import { describe, expect, it } from 'vitest';
import { functionTarget } from '../../src/chain/function-target.js';
import { useChainTestbed } from '../helpers/chain.js';

describe('chain calls name a function, then optionally a path and query', () => {
  it('builds the gateway path from the name and what follows it', () => {
    expect(functionTarget('function', 'pricing')).toBe('/function/pricing');
    expect(functionTarget('function', 'pricing/quote?currency=eur')).toBe('/function/pricing/quote?currency=eur');
    expect(functionTarget('function', 'pricing?currency=eur')).toBe('/function/pricing?currency=eur');
    expect(functionTarget('async-function', 'audit/log')).toBe('/async-function/audit/log');
  });

  it('refuses a bad name, and a path that a parser would rewrite to reach another function', () => {
    for (const target of ['Pricing', '', '-x', 'x_y', '../admin', 'pricing/../admin', 'pricing/%2e%2e/admin', 'pricing//x', 'pricing/a%2fb', 'pricing/a\\b', 'pricing/a b', 'pricing#frag', `pricing/${'a'.repeat(9000)}`, 'pricing/%2']) {
      expect(() => functionTarget('function', target), target).toThrowError(expect.objectContaining({ code: 'QFAAS_INVALID_CONFIG', field: 'functionName' }));
    }
  });

  describe('through the chain gateway', () => {
    const testbed = useChainTestbed();

    it('the function receives the path and query after its name', async () => {
      await testbed.deploy('pricing', () => (request) => ({ statusCode: 200, body: `pricing saw ${request.path}` }));
      const caller = await testbed.deploy('shop', () => () => ({ statusCode: 204 }));
      const response = await caller.client.invoke('pricing/quote/7?currency=eur');
      expect(await response.text()).toBe('pricing saw /quote/7?currency=eur');
      const lean = await caller.client.request('pricing?currency=usd');
      expect(await lean.body.text()).toBe('pricing saw /?currency=usd');
      await expect(caller.client.invoke('pricing/../admin')).rejects.toMatchObject({ field: 'functionName' });
    });
  });
});
