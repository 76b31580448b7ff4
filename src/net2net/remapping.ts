/**
 * Remapping inference: which mapping g every tensor of a graph gets when some unit writers are widened.
 *
 * Tensors joined by pass-through layers and element-wise merges must share one mapping: they form a group
 * (union-find over layer outputs). A group's mapping comes from a target on one of its writers (a fresh random g),
 * or is derived from other groups (Concatenate, Flatten, DepthwiseConv2D output) - then every writer in the group
 * adopts it. Groups are resolved in dependency order, so a widened Concatenate feeding an Add forces the Add's other
 * producers to follow.
 */
import type { GraphNode, LayerGraph } from './graph.ts';
import { channelWidth, getNode } from './graph.ts';
import type { LayerRole } from './layer-roles.ts';
import { hasCouplingActivation, layerRole } from './layer-roles.ts';
import type { SeededRandom } from '../random/seeded-random.ts';
import type { UnitMapping } from './mapping.ts';
import {
  concatMappings,
  depthwiseMapping,
  flattenMapping,
  identityMapping,
  isIdentity,
  randomWiderMapping,
  replicaCounts,
  sameMapping,
} from './mapping.ts';

export interface TensorGroup {
  readonly id: number;
  /** Layer outputs in the group. */
  readonly tensors: string[];
  /** Unit writers whose output is in the group (widened together). */
  readonly writers: string[];
  /** Concatenate / Flatten / DepthwiseConv2D layers whose output is in the group (the mapping is derived). */
  readonly derivedSources: string[];
  /** Width of the group's tensors before widening (null when they disagree, e.g. broadcasting merges). */
  readonly width: number | null;
  /** Reasons this group cannot change its mapping, each naming a layer. */
  readonly blockers: string[];
  /** Groups whose mapping this group's derived sources read. */
  readonly dependsOn: number[];
}

export interface GroupAnalysis {
  readonly groups: TensorGroup[];
  readonly groupOf: ReadonlyMap<string, number>;
  readonly roles: ReadonlyMap<string, LayerRole>;
}

/** How one group's mapping was chosen, for the transform record. */
export interface ResolvedGroup {
  tensors: string[];
  writers: string[];
  oldWidth: number;
  newWidth: number;
  /** 'target': drawn at random for the named targets; 'derived': follows the named Concatenate/Flatten/Depthwise. */
  source: 'target' | 'derived';
  targets: string[];
  derivedFrom: string[];
  /** g for 'target' groups (new position -> old unit); derived groups are reproduced from their sources. */
  mapping?: number[];
  /** Replica count of each old unit, for 'target' groups. */
  replicaCounts?: number[];
}

export interface RemappingPlan {
  /** Mapping of every tensor whose mapping is not the identity. */
  readonly mappings: ReadonlyMap<string, UnitMapping>;
  readonly resolved: ResolvedGroup[];
  readonly analysis: GroupAnalysis;
}

class UnionFind {
  private readonly parent = new Map<string, string>();
  find(x: string): string {
    let root = x;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root)!;
    this.parent.set(x, root);
    return root;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}

function spatialPositions(node: GraphNode): number {
  const shape = node.outputShape.slice(1, -1);
  return shape.reduce<number>((p, d) => {
    if (typeof d !== 'number') throw new Error(`layer '${node.name}' has an unknown spatial size: cannot flatten it`);
    return p * d;
  }, 1);
}

/** Builds the groups of a graph and what blocks each one from being widened. */
export function analyzeGroups(graph: LayerGraph): GroupAnalysis {
  const roles = new Map<string, LayerRole>();
  for (const name of graph.order) roles.set(name, layerRole(getNode(graph, name)));
  const uf = new UnionFind();
  for (const name of graph.order) {
    const node = getNode(graph, name);
    const role = roles.get(name)!;
    const joins =
      role === 'pass-through' ||
      role === 'channelwise' ||
      role === 'merge' ||
      (role === 'flatten' && node.outputShape.length === 2 && getNode(graph, node.inputs[0]).outputShape.length === 2);
    if (joins) for (const input of node.inputs) uf.union(name, input);
  }
  const members = new Map<string, string[]>();
  for (const name of graph.order) {
    const root = uf.find(name);
    members.set(root, [...(members.get(root) ?? []), name]);
  }
  const groupOf = new Map<string, number>();
  const groups: TensorGroup[] = [...members.values()].map((tensors, id) => {
    for (const t of tensors) groupOf.set(t, id);
    const widths = new Set(tensors.map((t) => getNode(graph, t).outputShape.at(-1)));
    const width = widths.size === 1 ? [...widths][0] : null;
    return {
      id,
      tensors,
      writers: [],
      derivedSources: [],
      width: typeof width === 'number' ? width : null,
      blockers: [],
      dependsOn: [],
    };
  });
  for (const group of groups) {
    if (group.width === null)
      group.blockers.push(`tensors ${group.tensors.map((t) => `'${t}'`).join(', ')} do not share one channel size`);
    for (const t of group.tensors) {
      const node = getNode(graph, t);
      const role = roles.get(t)!;
      if (role === 'unit-writer') {
        group.writers.push(t);
        if (hasCouplingActivation(node))
          group.blockers.push(`layer '${t}' has a ${String(node.config['activation'])} activation over its units`);
      } else if (
        role === 'concat' ||
        role === 'depthwise' ||
        (role === 'flatten' && !node.inputs.every((i) => groupOf.get(i) === group.id))
      ) {
        group.derivedSources.push(t);
        for (const input of node.inputs) {
          const dep = groupOf.get(input)!;
          if (!group.dependsOn.includes(dep)) group.dependsOn.push(dep);
        }
      } else if (role === 'input') {
        group.blockers.push(`it contains the model input '${t}'`);
      } else if (role === 'unsupported') {
        group.blockers.push(`it contains the output of layer '${t}' (${node.className}), which is not supported`);
      }
      if (node.isModelOutput) group.blockers.push(`it reaches the model output '${t}'`);
      for (const consumer of node.consumers) {
        const consumerNode = getNode(graph, consumer);
        if (roles.get(consumer) === 'unsupported')
          group.blockers.push(`layer '${consumer}' (${consumerNode.className}) reads it and is not supported`);
      }
    }
  }
  return { groups, groupOf, roles };
}

/** The targeted layers of each group, by group id; throws naming the layer for a target that cannot be met. */
function groupTargets(
  graph: LayerGraph,
  targets: Record<string, number>,
  { groupOf, roles }: GroupAnalysis,
): Map<number, string[]> {
  const targetsByGroup = new Map<number, string[]>();
  for (const [name, width] of Object.entries(targets)) {
    const node = graph.nodes.get(name);
    if (!node) throw new Error(`wider: no layer named '${name}' in the model`);
    if (roles.get(name) !== 'unit-writer')
      throw new Error(
        `wider: layer '${name}' is a ${node.className}; only Dense, Conv1D/2D/3D and SeparableConv2D layers (channels last) can be widened`,
      );
    if (!Number.isInteger(width)) throw new Error(`wider: target width ${width} for layer '${name}' is not an integer`);
    const old = channelWidth(node);
    if (width < old) throw new Error(`wider: layer '${name}' has ${old} units; the target ${width} is smaller`);
    const id = groupOf.get(name)!;
    targetsByGroup.set(id, [...(targetsByGroup.get(id) ?? []), name]);
  }
  return targetsByGroup;
}

/**
 * Resolves every group's mapping for `targets` (unit writer name -> new width) and returns the mapping of every
 * tensor that changes. Throws an error naming the layers when the request cannot be satisfied.
 */
export function inferRemapping(
  graph: LayerGraph,
  targets: Record<string, number>,
  random: SeededRandom,
): RemappingPlan {
  const analysis = analyzeGroups(graph);
  const { groups, groupOf, roles } = analysis;
  const targetsByGroup = groupTargets(graph, targets, analysis);
  const mappingOf = new Map<number, UnitMapping>();
  const resolving = new Set<number>();
  const resolved: ResolvedGroup[] = [];

  const tensorMapping = (name: string): UnitMapping => resolve(groupOf.get(name)!);

  const derive = (source: string): UnitMapping => {
    const node = getNode(graph, source);
    const role = roles.get(source);
    if (role === 'concat') return concatMappings(node.inputs.map(tensorMapping));
    if (role === 'depthwise')
      return depthwiseMapping(tensorMapping(node.inputs[0]), Number(node.config['depthMultiplier'] ?? 1));
    return flattenMapping(tensorMapping(node.inputs[0]), spatialPositions(getNode(graph, node.inputs[0])));
  };

  function resolve(id: number): UnitMapping {
    const known = mappingOf.get(id);
    if (known) return known;
    const group = groups[id];
    if (resolving.has(id))
      throw new Error(`wider: the mapping of the group of '${group.tensors[0]}' depends on itself; cannot resolve it`);
    resolving.add(id);
    const targetNames = targetsByGroup.get(id) ?? [];
    let mapping: UnitMapping;
    let source: ResolvedGroup['source'] = 'target';
    if (group.derivedSources.length > 0) {
      source = 'derived';
      const [first, ...others] = group.derivedSources;
      mapping = derive(first);
      for (const other of others) {
        const m = derive(other);
        if (!sameMapping(m, mapping))
          throw new Error(
            `wider: layers '${first}' and '${other}' feed one element-wise group but would be widened differently ` +
              `(${mapping.g.length} vs ${m.g.length} units or different unit orders)`,
          );
      }
      for (const t of targetNames) {
        const asked = targets[t];
        if (asked !== mapping.g.length)
          throw new Error(
            `wider: layer '${t}' shares its output mapping with '${first}' (${getNode(graph, first).className}), ` +
              `which makes it ${mapping.g.length} units wide; the target ${asked} conflicts`,
          );
      }
    } else if (targetNames.length > 0) {
      const widths = new Set(targetNames.map((t) => targets[t]));
      if (widths.size > 1) {
        const [a, b] = targetNames.filter((t, i) => targetNames.findIndex((u) => targets[u] === targets[t]) === i);
        throw new Error(
          `wider: layers '${a}' (target ${targets[a]}) and '${b}' (target ${targets[b]}) write into one ` +
            'element-wise group and must have the same width',
        );
      }
      const width = targets[targetNames[0]];
      if (group.width === null) throw new Error(`wider: cannot widen '${targetNames[0]}': ${group.blockers[0]}`);
      mapping = width === group.width ? identityMapping(width) : randomWiderMapping(group.width, width, random);
    } else {
      mapping = identityMapping(group.width ?? 0);
    }
    if (!isIdentity(mapping)) {
      if (group.blockers.length > 0) {
        const why = targetNames.length > 0 ? `layer '${targetNames[0]}'` : `the group of '${group.tensors[0]}'`;
        throw new Error(`wider: cannot widen ${why}: ${group.blockers[0]}`);
      }
      const counts = replicaCounts(mapping);
      resolved.push({
        tensors: group.tensors,
        writers: group.writers,
        oldWidth: mapping.oldWidth,
        newWidth: mapping.g.length,
        source,
        targets: targetNames,
        derivedFrom: group.derivedSources,
        ...(source === 'target' ? { mapping: Array.from(mapping.g), replicaCounts: Array.from(counts) } : {}),
      });
    }
    resolving.delete(id);
    mappingOf.set(id, mapping);
    return mapping;
  }

  for (const name of graph.order) resolve(groupOf.get(name)!);
  const mappings = new Map<string, UnitMapping>();
  for (const name of graph.order) {
    const m = mappingOf.get(groupOf.get(name)!)!;
    if (!isIdentity(m)) mappings.set(name, m);
  }
  return { mappings, resolved, analysis };
}

/**
 * Unit writers that can be widened on their own (for scaleWidth): their group's mapping is not derived, nothing
 * blocks it, and no group derived from it (transitively) is blocked.
 */
export function independentlyWidenable(analysis: GroupAnalysis): Set<string> {
  const { groups } = analysis;
  const dependents = new Map<number, number[]>();
  for (const g of groups) for (const d of g.dependsOn) dependents.set(d, [...(dependents.get(d) ?? []), g.id]);
  const memo = new Map<number, boolean>();
  const blocked = (id: number, stack: Set<number>): boolean => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    if (stack.has(id)) return true;
    stack.add(id);
    const result = groups[id].blockers.length > 0 || (dependents.get(id) ?? []).some((d) => blocked(d, stack));
    stack.delete(id);
    memo.set(id, result);
    return result;
  };
  const result = new Set<string>();
  for (const g of groups)
    if (g.derivedSources.length === 0 && g.writers.length > 0 && !blocked(g.id, new Set()))
      for (const w of g.writers) result.add(w);
  return result;
}
