package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.autograd.Var;
import dev.bertft.classifier.SequenceClassifier;
import dev.bertft.nn.AdamW;
import dev.bertft.nn.GradScaler;
import dev.bertft.nn.LearningRateSchedule;
import dev.bertft.nn.PlateauReduction;
import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.safetensors.SafetensorsWriter;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a run is made of at an update boundary, saved and restored as one round-trip pair: the model (its
 * folder: model.safetensors, config.json, tokenizer files), AdamW's moments and step count
 * (optimizer.safetensors), the learning-rate schedule (scheduler.json), the dropout stream and data seed
 * (rng_state.json), the trainer state (trainer_state.json) and the run's settings (training_args.json), in
 * the layout of a Hugging Face checkpoint folder. {@link #save} goes through {@link Checkpoints#save}, so a
 * checkpoint appears whole or not at all; {@link #restore} puts every part back into the same objects, so a
 * resumed run continues bit for bit where the saved one was. Whatever else a run comes to carry between
 * updates (a loss scale) is saved and restored here too, so the two stay a pair.
 */
final class Checkpoint {
    static final String OPTIMIZER_FILE = "optimizer.safetensors";
    static final String SCHEDULER_FILE = "scheduler.json";
    static final String RNG_FILE = "rng_state.json";

    private final SequenceClassifier model;
    private final AdamW optimizer;
    private final LearningRateSchedule schedule;
    /** reduce_lr_on_plateau's state (scheduler.json's "plateau"), or null with any other schedule. */
    private final PlateauReduction plateau;
    private final Backend backend;
    /** fp16's dynamic loss scale (scaler.json), or null in a run without one. */
    private final GradScaler scaler;

    Checkpoint(SequenceClassifier model, AdamW optimizer, LearningRateSchedule schedule, PlateauReduction plateau, Backend backend,
               GradScaler scaler) {
        this.model = model;
        this.optimizer = optimizer;
        this.schedule = schedule;
        this.plateau = plateau;
        this.backend = backend;
        this.scaler = scaler;
    }

    /**
     * Writes {@code outputDir/checkpoint-<global step>} atomically; {@code trainingArgs} is training_args.json's content, or null.
     * {@code modelOnly} (HF's save_only_model) leaves out what only a resume reads: AdamW's moments, the schedule, the random
     * state and the loss scale.
     */
    Path save(Path outputDir, TrainerState state, long dataSeed, byte[] trainingArgs, boolean modelOnly) throws IOException {
        return Checkpoints.save(outputDir, state.globalStep, dir -> {
            model.save(dir);
            Files.write(dir.resolve(Checkpoints.STATE_FILE), TrainerState.JSON.writeValueAsBytes(state.toJson()));
            if (trainingArgs != null) Files.write(dir.resolve(Checkpoints.ARGS_FILE), trainingArgs);
            if (modelOnly) return;
            if (scaler != null) LossScaleFile.write(dir, scaler);
            writeOptimizer(dir.resolve(OPTIMIZER_FILE));
            ObjectNode sched = TrainerState.JSON.createObjectNode();
            sched.put("last_epoch", state.schedulerSteps);
            sched.put("type", schedule.kind().hfName());
            sched.putArray("base_lrs").add(schedule.peak());
            sched.put("warmup_steps", schedule.warmupSteps());
            sched.put("total_steps", schedule.totalSteps());
            sched.putArray("last_lr").add(Trainer.rate(schedule, plateau, state.schedulerSteps));
            if (plateau != null) sched.set("plateau", TrainerState.JSON.valueToTree(plateau.state()));
            Files.write(dir.resolve(SCHEDULER_FILE), TrainerState.JSON.writeValueAsBytes(sched));
            ObjectNode rng = TrainerState.JSON.createObjectNode();
            rng.put("seed", model.rng().seed());
            rng.put("dropout_offset", model.rng().offset());
            rng.put("data_seed", dataSeed);
            Files.write(dir.resolve(RNG_FILE), TrainerState.JSON.writeValueAsBytes(rng));
        });
    }

    /**
     * Restores weights, optimizer moments and step, and the dropout stream from {@code dir}, and returns its
     * trainer state with the scheduler's step from scheduler.json: the schedule is a function of that step.
     */
    TrainerState restore(Path dir) throws IOException {
        Path stateFile = dir.resolve(Checkpoints.STATE_FILE);
        if (!Files.isRegularFile(stateFile)) throw new IOException(dir + ": not a complete checkpoint (no trainer_state.json)");
        if (!Files.isRegularFile(dir.resolve(OPTIMIZER_FILE))) {
            throw new IOException(dir + ": saved with save_only_model (no optimizer, schedule or random state), so a run cannot resume "
                    + "from it; its model folder loads as any other");
        }
        TrainerState state = TrainerState.read(stateFile);
        model.loadWeights(dir);
        readOptimizer(dir.resolve(OPTIMIZER_FILE));
        JsonNode rng = TrainerState.JSON.readTree(dir.resolve(RNG_FILE).toFile());
        if (rng == null || !rng.has("dropout_offset")) throw new IOException(dir.resolve(RNG_FILE) + ": no dropout_offset");
        model.restoreRng(rng.get("dropout_offset").asLong());
        JsonNode sched = TrainerState.JSON.readTree(dir.resolve(SCHEDULER_FILE).toFile());
        if (sched == null || !sched.path("last_epoch").isIntegralNumber()) throw new IOException(dir.resolve(SCHEDULER_FILE) + ": no last_epoch");
        state.schedulerSteps = sched.get("last_epoch").asLong();
        if (plateau != null) {
            if (!sched.has("plateau")) throw new IOException(dir.resolve(SCHEDULER_FILE) + ": no reduce_lr_on_plateau state (\"plateau\")");
            plateau.restore(TrainerState.JSON.treeToValue(sched.get("plateau"), PlateauReduction.State.class));
        }
        if (scaler != null) LossScaleFile.restore(dir, scaler);
        return state;
    }

    /**
     * The moments under the checkpoint's parameter names, as the model folder's weights: a fused
     * parameter's (Q, K and V) split into the rows each stored name holds, so the file keeps one
     * entry per HF parameter however the model trains them.
     */
    private void writeOptimizer(Path file) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter().metadata("step", Long.toString(optimizer.stepCount()));
        Map<Var, String> trained = trainedNames();
        for (Map.Entry<String, Var> e : model.namedParameters().entrySet()) {
            Var p = e.getValue();
            AdamW.Moments mv = optimizer.state().get(trained.get(p.base()));
            if (mv == null) continue;
            Tensor m = p.partOf(mv.m()), v = p.partOf(mv.v());
            w.add(e.getKey() + ".exp_avg", longShape(m), m.toFloatArray());
            w.add(e.getKey() + ".exp_avg_sq", longShape(v), v.toFloatArray());
        }
        w.write(file);
    }

    /** Reads what {@link #writeOptimizer} wrote (or a checkpoint from before fused parameters: the same names), rows joined again. */
    private void readOptimizer(Path file) throws IOException {
        Map<String, List<Tensor[]>> parts = new LinkedHashMap<>();
        long step;
        Map<Var, String> trained = trainedNames();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            String stepText = f.metadata().get("step");
            if (stepText == null) throw new IOException(file + ": no 'step' in its metadata");
            step = Long.parseLong(stepText);
            for (Map.Entry<String, Var> e : model.namedParameters().entrySet()) {
                String name = e.getKey();
                if (!f.contains(name + ".exp_avg")) continue;
                int[] shape = e.getValue().shape();
                Tensor m = Tensor.of(backend, f.readF32(name + ".exp_avg"), shape);
                Tensor v = Tensor.of(backend, f.readF32(name + ".exp_avg_sq"), shape);
                parts.computeIfAbsent(trained.get(e.getValue().base()), k -> new ArrayList<>()).add(new Tensor[] {m, v});
            }
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
        Map<String, Var> params = model.trainableParameters();
        Map<String, AdamW.Moments> moments = new LinkedHashMap<>();
        parts.forEach((name, mv) -> {
            if (mv.size() == 1) moments.put(name, new AdamW.Moments(mv.get(0)[0], mv.get(0)[1]));
            else moments.put(name, new AdamW.Moments(Tensor.concat(mv.stream().map(t -> t[0]).toList(), 0),
                    Tensor.concat(mv.stream().map(t -> t[1]).toList(), 0)));
        });
        for (Map.Entry<String, AdamW.Moments> e : moments.entrySet()) {
            if (!e.getValue().m().sameShape(params.get(e.getKey()).value())) {
                throw new IOException(file + ": the moments of " + e.getKey() + " are incomplete (a part of its rows is missing)");
            }
        }
        optimizer.restore(step, moments);
    }

    /** The name each trained parameter has in the optimizer's state. */
    private Map<Var, String> trainedNames() {
        Map<Var, String> out = new IdentityHashMap<>();
        model.trainableParameters().forEach((name, p) -> out.put(p, name));
        return out;
    }

    private static long[] longShape(Tensor t) {
        int[] s = t.shape();
        long[] out = new long[s.length];
        for (int i = 0; i < s.length; i++) out[i] = s[i];
        return out;
    }
}
