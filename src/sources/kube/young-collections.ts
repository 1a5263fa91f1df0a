// Young collections while a batch of API objects is read and cached. JSC's collector does not move objects: what an
// object leaves behind as it is cached (the managedFields trimForCache drops, the copies and issue lists validation
// makes) is garbage at once, and the cached survivors are allocated among it. Collected all at once after a LIST of
// 20 000 configs, that garbage left every heap block part-full, and Bun.shrink() gives back only empty blocks. A
// young collection every COLLECT_EVERY_ITEMS items frees each batch's garbage while the batch is still being read,
// and the next items' survivors fill those cells.
// Measured on a restart over the statuses a storm left at 10 000 machines (LISTs of 31.6 and 27.2 MiB; heap after a
// full collection, idle RSS 15 s later): 77 MiB live in 185 MiB of blocks and 275 MiB RSS with none; 142 MiB and
// 230 MiB with them in the reflector's LIST; 108 MiB and 197 MiB with them also where the source validates the
// LIST's items. A fresh start went from 190-193 to 184 MiB.

/** Items between two young collections. */
export const COLLECT_EVERY_ITEMS = 100;

/** One young collection per `every` calls (COLLECT_EVERY_ITEMS; none with 0). `collect`: a test hook; Bun.gc(false) by default. */
export function youngCollectionPacer(every: number, collect: () => void = () => Bun.gc(false)): () => void {
  let items = 0;
  return () => {
    if (every > 0 && ++items % every === 0) collect();
  };
}
