/** Paths for binding.gyp files (see README.md). */
export declare const include: string;
export declare const pollerSource: string;
