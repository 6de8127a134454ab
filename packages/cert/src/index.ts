/**
 * @packageDocumentation
 * Nebula v1 certificates: codec, PEM, signing, verification, CA pool
 */
export {};
