<?php
/**
 * The refusal of a bundle before anything changed.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

/** Refused before anything changed (exit 2). */
class GSW_Refusal extends RuntimeException
{
}
