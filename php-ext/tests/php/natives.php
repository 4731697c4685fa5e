<?php
/**
 * Runs the connector's PHP implementations of the extension's functions
 * over files the Rust tests wrote (php-ext/tests/natives.rs), and prints
 * one JSON line of outcomes:
 *
 *   php natives.php vectors <protocol/tests/vectors>   each vector through GSW_Bundle::verify
 *   php natives.php blocks <dir>                        each *.txt through GSW_Blocks::parse
 *   php natives.php zips <dir> <limit>                  each *.zip through GSW_Zip_Check::file
 *   php natives.php facade <calls.json>                 GSW_Native and the gsw_* function on the same calls
 */

if (PHP_SAPI !== 'cli') {
    exit(1);
}
$gsw_includes = dirname(__DIR__, 2) . '/connector/gsw-connector/includes';
require_once "$gsw_includes/class-gsw-native.php";
require_once "$gsw_includes/class-gsw-bundle.php";
require_once "$gsw_includes/class-gsw-blocks.php";
require_once "$gsw_includes/class-gsw-zip-check.php";

/** Bytes that are not UTF-8 as `['base64' => …]`, so JSON carries them exactly. */
function gsw_test_exact($value)
{
    if (is_array($value)) {
        return array_map('gsw_test_exact', $value);
    }
    return is_string($value) && preg_match('//u', $value) !== 1 ? ['base64' => base64_encode($value)] : $value;
}

/** What a call returned or threw, comparable across implementations. */
function gsw_test_outcome(callable $call): array
{
    try {
        return ['ok' => gsw_test_exact($call())];
    } catch (Throwable $e) {
        return ['error' => get_class($e) === 'GSW_Bundle_Refusal' ? 'Exception' : get_class($e), 'message' => $e->getMessage()];
    }
}

function gsw_test_files(string $dir, string $extension): array
{
    $files = glob("$dir/*.$extension");
    sort($files);
    return $files;
}

$gsw_out = [];
switch ($argv[1] ?? '') {
    case 'vectors':
        $index = json_decode(file_get_contents("$argv[2]/vectors.json"), true);
        $key = base64_decode($index['public_key'], true);
        foreach ($index['vectors'] as $vector) {
            $bytes = file_get_contents("$argv[2]/{$vector['file']}");
            try {
                $verified = GSW_Bundle::verify(
                    $bytes,
                    $key,
                    $vector['site_id'],
                    $vector['last_applied'],
                    $vector['now'],
                    $vector['max_bundle_bytes'],
                    $vector['max_unpacked_bytes']
                );
                $m = $verified['manifest'];
                $items = [];
                foreach ($verified['items'] as $item) {
                    if (hash('sha256', $item['content']) !== $item['sha256'] || strlen($item['content']) !== $item['size']) {
                        throw new LogicException("{$item['path']}: content does not match");
                    }
                    $items[] = ['kind' => $item['kind'], 'path' => $item['path'], 'size' => $item['size'], 'sha256' => $item['sha256']];
                }
                $answer = ['ok' => [
                    'bundle_id' => $m['bundle_id'],
                    'site_id' => $m['site_id'],
                    'sequence' => $m['sequence'],
                    'created_at' => (string) $m['created_at'],
                    'expires_at' => (string) $m['expires_at'],
                    'unfiltered_html' => $m['policy']['unfiltered_html'],
                    'items' => $items,
                ]];
            } catch (GSW_Bundle_Refusal $e) {
                $answer = ['refused' => ['code' => $e->refusal, 'message' => $e->reason]];
            }
            $gsw_out[$vector['name']] = $answer;
        }
        break;
    case 'blocks':
        foreach (gsw_test_files($argv[2], 'txt') as $file) {
            $gsw_out[basename($file)] = gsw_test_outcome(fn () => GSW_Blocks::parse(file_get_contents($file)));
        }
        break;
    case 'zips':
        foreach (gsw_test_files($argv[2], 'zip') as $file) {
            $gsw_out[basename($file)] = gsw_test_outcome(fn () => GSW_Zip_Check::file($file, (int) $argv[3]));
        }
        break;
    case 'facade':
        // With the extension loaded: the facade (which calls it) and the PHP implementation, side by side.
        $php = [
            'bundle_open' => [GSW_Bundle::class, 'open'],
            'blocks_parse' => [GSW_Blocks::class, 'parse'],
            'content_hash' => fn (string $content) => hash('sha256', $content),
            'zip_check' => [GSW_Zip_Check::class, 'file'],
        ];
        foreach (json_decode(file_get_contents($argv[2]), true) as $i => [$function, $args]) {
            $args = array_map(fn ($arg) => is_array($arg) ? base64_decode($arg['base64']) : $arg, $args);
            $gsw_out[] = [
                'call' => $i,
                'extension' => gsw_test_outcome(fn () => [GSW_Native::class, $function](...$args)),
                'php' => gsw_test_outcome(fn () => $php[$function](...$args)),
            ];
        }
        break;
    default:
        fwrite(STDERR, "usage: natives.php vectors|blocks|zips|facade …\n");
        exit(2);
}
echo json_encode($gsw_out, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
