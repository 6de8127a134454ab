/**
 * @packageDocumentation
 * Nebula's stateful firewall: rules, conntrack, routine-local conntrack cache
 */
export {};
