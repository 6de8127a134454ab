/**
 * @packageDocumentation
 * Batched AEAD (AES-256-GCM, ChaCha20-Poly1305) on Node's own OpenSSL, with node:crypto and noble fallbacks
 */
export {};
