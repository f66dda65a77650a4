export * from './quic/index.js';
export * from './h3/index.js';
