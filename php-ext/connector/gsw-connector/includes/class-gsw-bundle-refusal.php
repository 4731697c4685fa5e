<?php
/**
 * Why the PHP bundle verifier (GSW_Bundle) refused a bundle.
 *
 * @package gsw-connector
 */

// Loaded by bin/apply.php before WordPress, or inside WordPress.
if (PHP_SAPI !== 'cli' && !defined('ABSPATH')) {
    exit;
}

/**
 * A refused bundle: the code is `BundleError::code()`'s (`hash_mismatch`,
 * …), the reason its message, and the exception's message what
 * `gsw_bundle_open` says: `gsw: bundle refused (<code>): <reason>`.
 */
final class GSW_Bundle_Refusal extends Exception
{
    public readonly string $refusal;
    public readonly string $reason;

    public function __construct(string $refusal, string $reason)
    {
        parent::__construct("gsw: bundle refused ($refusal): $reason");
        $this->refusal = $refusal;
        $this->reason = $reason;
    }
}
