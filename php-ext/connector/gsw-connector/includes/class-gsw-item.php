<?php
/**
 * One bundle item's result, in the report's format.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

/** The result of applying one bundle item. */
final class GSW_Item
{
    /** One item's result, in the report's format. */
    public static function result(array $item, string $status, ?string $message = null): array
    {
        $result = ['kind' => $item['kind'], 'path' => $item['path'], 'status' => $status];
        if ($message !== null && $message !== '') {
            $result['message'] = $message;
        }
        return $result;
    }

    /** Runs one item's work; anything it throws fails that item only. */
    public static function attempt(array $item, callable $work): array
    {
        try {
            return $work();
        } catch (Throwable $e) {
            return self::failed($item, $e);
        }
    }

    /** The result of an item whose work threw. */
    public static function failed(array $item, Throwable $e): array
    {
        return self::result($item, 'failed', get_class($e) . ': ' . $e->getMessage());
    }
}
