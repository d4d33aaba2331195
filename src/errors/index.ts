export * from './error-codes.js';
export * from './automat-error.js';
