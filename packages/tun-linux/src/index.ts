/**
 * @packageDocumentation
 * Linux tun devices for Node: multi-queue, batched I/O with headroom, netlink configuration
 */
export {};
