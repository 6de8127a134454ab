/**
 * @packageDocumentation
 * The nebula and nebula-cert commands
 */
export {};
