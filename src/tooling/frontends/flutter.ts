import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { formatOrigin, type DevOrigins } from './origins.ts'
import { isRecord, readSmallText, yamlMessage } from './read-file.ts'

/** FlutterApp is what a Flutter app's pubspec.yaml and launch settings say about it. */
export interface FlutterApp {
  name: string | null
  /** flutterVersion is the `environment.flutter` constraint, when the pubspec pins one. */
  flutterVersion: string | null
  origins: DevOrigins
}

/** FLUTTER_PLATFORM_DIRS are the folders `flutter create` writes per platform: native projects, not apps of their own. */
export const FLUTTER_PLATFORM_DIRS = ['android', 'ios', 'macos', 'linux', 'windows']

/**
 * readFlutterApp reads a folder's pubspec.yaml: an app depends on the Flutter SDK, is no plugin, and
 * is either unpublished (`publish_to: none`, as `flutter create` writes) or has platform folders.
 * Returns null for Dart packages and Flutter libraries, or a message when the file is unusable.
 */
export async function readFlutterApp (dir: string, dirs: Set<string>): Promise<FlutterApp | null | { problem: string }> {
  const read = await readSmallText(join(dir, 'pubspec.yaml'))
  if (!read.ok) return { problem: read.message }
  let doc: unknown
  try {
    doc = parseYaml(read.text)
  } catch (err) {
    return { problem: `invalid YAML: ${yamlMessage(err)}` }
  }
  if (!isRecord(doc)) return { problem: 'must be a YAML mapping' }
  const sdkApp = isRecord(doc.dependencies) && Object.hasOwn(doc.dependencies, 'flutter')
  const plugin = isRecord(doc.flutter) && Object.hasOwn(doc.flutter, 'plugin')
  const app = doc.publish_to === 'none' || [...FLUTTER_PLATFORM_DIRS, 'web'].some((d) => dirs.has(d))
  if (!sdkApp || plugin || !app) return null
  const environment = isRecord(doc.environment) ? doc.environment : {}
  return {
    name: typeof doc.name === 'string' && doc.name !== '' ? doc.name : null,
    flutterVersion: typeof environment.flutter === 'string' ? environment.flutter : null,
    origins: await launchOrigins(dir)
  }
}

/**
 * launchOrigins finds a fixed web port (`--web-port`) in the editor's launch settings. Flutter picks
 * a random port for the web otherwise, so there is no default origin to report.
 */
async function launchOrigins (dir: string): Promise<DevOrigins> {
  const read = await readSmallText(join(dir, '.vscode', 'launch.json'))
  if (!read.ok) return { origins: [], originSources: [] }
  const match = /"--web-port(?:=(\d{1,5})"|"\s*,\s*"(\d{1,5})")/.exec(read.text)
  const port = Number(match?.[1] ?? match?.[2] ?? 0)
  if (port < 1 || port > 65535) return { origins: [], originSources: [] }
  const host = /"--web-hostname(?:=([^"\s]+)"|"\s*,\s*"([^"\s]+)")/.exec(read.text)
  return { origins: [formatOrigin(false, host?.[1] ?? host?.[2] ?? null, port)], originSources: ['.vscode/launch.json --web-port'] }
}
