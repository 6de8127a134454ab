/**
 * @packageDocumentation
 * UDP routines for Node: SO_REUSEPORT socket groups, recvmmsg/sendmmsg, GSO/GRO
 */
export {};
