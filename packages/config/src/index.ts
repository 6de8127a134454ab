/**
 * @packageDocumentation
 * Nebula config.yml loading, directory merge, typed config with 1.6.1 defaults and path-named errors
 */
export {};
