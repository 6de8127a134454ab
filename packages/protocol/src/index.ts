/**
 * @packageDocumentation
 * Nebula wire protocol: header, handshake payload, NebulaControl, Noise IX, replay window, crypto providers
 */
export {};
