export * from './quic/index.js';
